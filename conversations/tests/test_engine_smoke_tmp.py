import time
from conversations.tests.engine_support import *  # noqa
from testsupport.scenarios import Reply

def test_it_smokes(live_entities, sdk, cloud):
    t0=time.monotonic()
    cloud.push(Reply(["Hel", "lo"], usage=(7, 2)))
    a = sdk.beta.assistants.create(model="cloud/fake-model", instructions="Be nice.")
    print("asst", time.monotonic()-t0)
    t = sdk.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    print("thread", time.monotonic()-t0)
    run = sdk.beta.threads.runs.create(thread_id=t.id, assistant_id=a.id)
    print("create", time.monotonic()-t0, run.status)
    run = wait_for(sdk, run, TERMINAL)
    print("done", time.monotonic()-t0, run.status)
    for i in range(5):
        sdk.beta.threads.runs.retrieve(run.id, thread_id=t.id)
    print("5 gets", time.monotonic()-t0)
