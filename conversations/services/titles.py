"""A short model-written title for a thread, after its first reply from a real model.

The text-derived title (``content.title_from_text``, set with the first message) stays
unless all of this holds: ``ENTITIES_AUTO_TITLE`` is on, the completed run is the thread's
first completed one, its model routes to a real backend (not ``demo``), and the title is
still the one derived from the first message (nobody renamed the thread). Then one small
request goes to the run's own backend, bounded by ``ENTITIES_AUTO_TITLE_TIMEOUT``; any
failure (an error, a timeout, an empty answer) keeps the text's title. The title is written
only if it has not changed meanwhile, so a rename during the call wins.

Started by the engine after the run's completion is stored and announced
(``engine/completion.py``, registered in ``apps.py``): it never delays the reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from dataclasses import dataclass

from django.conf import settings

from conversations.engine.db import db
from conversations.models import Message, Run, Thread
from conversations.services.content import content_text, title_from_text
from inference.events import ChatRequest, StreamError, TextDelta
from inference.factory import InferenceFactory
from inference.routing import resolve_model

log = logging.getLogger(__name__)

PROMPT = ("Write a title of at most six words for the conversation below. Answer with the title only: "
          "no quotes, no Markdown, no final period.")
EXCERPT_CHARS = 1500  # of the first message and of the reply: enough to name the topic
MAX_TOKENS = 24


@dataclass(frozen=True)
class TitleJob:
    thread_id: str
    current_title: str
    inference_type: str
    model: str
    question: str
    answer: str


def title_job(run_id: str) -> TitleJob | None:
    """What to ask for ``run_id``'s thread, or None when its title stays as it is."""
    if not settings.ENTITIES_AUTO_TITLE:
        return None
    run = Run.objects.filter(pk=run_id, status=Run.Status.COMPLETED).select_related("thread").first()
    if run is None:
        return None
    try:
        inference_type, model = resolve_model(run.model)
    except ValueError:
        return None
    if inference_type == "demo":
        return None
    if Run.objects.filter(thread_id=run.thread_id, status=Run.Status.COMPLETED).exclude(pk=run.pk).exists():
        return None  # not the first reply
    first = Message.objects.filter(thread_id=run.thread_id, role=Message.Role.USER).order_by("created_at", "id").first()
    reply = Message.objects.filter(run_id=run.pk, role=Message.Role.ASSISTANT).order_by("-created_at", "-id").first()
    if first is None or reply is None:
        return None
    question, answer = content_text(first.content), content_text(reply.content)
    if run.thread.title != title_from_text(question) or not question.strip() or not answer.strip():
        return None  # renamed, or nothing to name
    return TitleJob(run.thread_id, run.thread.title, inference_type, model,
                    question[:EXCERPT_CHARS], answer[:EXCERPT_CHARS])


def clean_title(text: str) -> str:
    """The model's answer as a title: its first line, without quotes, Markdown or a final period."""
    line = next((part for part in text.strip().splitlines() if part.strip()), "")
    line = re.sub(r"^\s*(?:#+\s*)?(?:title\s*:\s*)?", "", line, flags=re.IGNORECASE)
    line = re.sub(r"[*_`#]+", "", line).strip().strip("\"'“”‘’«»").strip()
    return title_from_text(line.rstrip(".").strip())


async def ask_for_title(job: TitleJob) -> str:
    """The backend's title for ``job`` ("" on any failure), within the configured timeout."""
    backend = InferenceFactory.get_inference(job.inference_type)
    request = ChatRequest(model=job.model, temperature=0.2, max_tokens=MAX_TOKENS, messages=[
        {"role": "system", "content": PROMPT},
        {"role": "user", "content": f"User: {job.question}\n\nAssistant: {job.answer}"},
    ])
    parts: list[str] = []
    try:
        async with asyncio.timeout(settings.ENTITIES_AUTO_TITLE_TIMEOUT):
            async with contextlib.aclosing(backend.stream(request)) as events:
                async for event in events:
                    if isinstance(event, TextDelta):
                        parts.append(event.text)
                    elif isinstance(event, StreamError):
                        log.info("no model-written title for %s: %s", job.thread_id, event.message)
                        return ""
    except TimeoutError:
        log.info("no model-written title for %s: no answer within %ss", job.thread_id,
                 settings.ENTITIES_AUTO_TITLE_TIMEOUT)
        return ""
    return clean_title("".join(parts))


def store_title(job: TitleJob, title: str) -> bool:
    """Write ``title`` unless the thread's title changed since ``job`` was read (a rename wins)."""
    return Thread.objects.filter(pk=job.thread_id, title=job.current_title).update(title=title) == 1


async def write_model_title(run_id: str) -> None:
    """After ``run_id`` completed: give its thread a model-written title when the rule says so."""
    if not settings.ENTITIES_AUTO_TITLE:
        return  # not even a trip to the database
    job = await db(title_job, run_id)
    if job is None:
        return
    title = await ask_for_title(job)
    if title and title != job.current_title:
        await db(store_title, job, title)
