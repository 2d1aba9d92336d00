"""The run engine: executes runs detached from the requests that asked for them.

- ``hooks``: what services call after commit (a run was queued, a cancel was asked).
- ``runtime``: the per-process runtime (event loop binding, tasks, leases, sweeper).
- ``executor``: one run's execution: context → backend stream → events, tools, state.
- ``stream``: the per-run event log that watchers (SSE, WebSocket) attach to.
- ``watch``: how any surface follows a run, local or in another process.
"""
