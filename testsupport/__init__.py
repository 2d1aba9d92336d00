"""Test support shared by the whole project: real-HTTP fake model servers and a threaded uvicorn.

    from testsupport.fake_openai import FakeOpenAIServer
    from testsupport.scenarios import Reply, ToolCalls, HttpError, Hang, Disconnect, Malformed

Pytest fixtures (`fake_openai`, `fake_ollama`) live in `testsupport.fixtures`.
"""
