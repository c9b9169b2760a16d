"""Talking to a model behind any OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp
server) for one JSON answer: the call, the fallback, the error mapping, and reading the answer's
JSON. Shared by the LLM coach (practice.coach.llm) and the variant writer
(practice.coach.variants), which bring their own prompts, schemas and rules.

- The request asks for JSON through `response_format` json_schema (strict); a server that answers
  400 or 422 to that is asked again with json_object, which most local servers support. The
  schema is in the prompt either way, so both ask the same question.
- The openai client retries 429, 5xx, timeouts and connection errors with exponential back-off
  (honouring Retry-After); whatever still fails becomes a CoachError naming the status.
- An answer that is empty, refused, cut off at its length limit, not JSON or not matching the
  caller's schema raises a CoachAnswerError that says what was wrong and keeps the raw text.
- A process keeps one openai client per endpoint (`shared_client`), however many coaches it
  builds: a client costs tens of milliseconds to set up (its TLS context), and a kept one
  reuses its open connections instead of connecting for every reflection.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass
from functools import lru_cache

import openai

from practice.coach.base import CoachError

MAX_RETRIES = 3
EXCERPT_LIMIT = 200
RETRIED_STATUSES = (408, 409, 429)
# How servers without structured outputs answer a json_schema request.
SCHEMA_REFUSALS = (openai.BadRequestError, openai.UnprocessableEntityError)
JSON_OBJECT_FORMAT = {"type": "json_object"}


def object_schema(**properties):
    """A strict JSON schema object: every property required, no others."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


class CoachAnswerError(CoachError):
    """The model answered, but not with a usable answer; keeps the raw answer for audit."""

    def __init__(self, message, raw_output=""):
        super().__init__(message)
        self.raw_output = raw_output


@dataclass(frozen=True)
class Answer:
    """The text of one completion and what the endpoint said about the run."""

    text: str
    model: str
    prompt_tokens: int | None
    completion_tokens: int | None
    latency_ms: int


class JSONChat:
    """A model behind an OpenAI-compatible endpoint, asked for one JSON answer per call."""

    def __init__(self, *, base_url, api_key, model, timeout=60.0, max_retries=MAX_RETRIES):
        self.model = model
        self.timeout = float(timeout)
        self.max_retries = max_retries
        self.client = shared_client(
            base_url=base_url, api_key=api_key, timeout=self.timeout, max_retries=max_retries
        )
        self.json_schema_supported = True

    def ask(self, messages, schema_format):
        """The answer to `messages`, asked for with the json_schema `schema_format`; CoachError
        when the call fails, CoachAnswerError when the answer is empty, refused or cut off."""
        started = time.monotonic()
        completion = self.complete(messages, schema_format)
        latency_ms = round((time.monotonic() - started) * 1000)
        text = answer_text(completion)
        usage = getattr(completion, "usage", None)
        return Answer(
            text=text,
            model=getattr(completion, "model", None) or self.model,
            prompt_tokens=getattr(usage, "prompt_tokens", None),
            completion_tokens=getattr(usage, "completion_tokens", None),
            latency_ms=latency_ms,
        )

    def complete(self, messages, schema_format):
        """One chat completion; `schema_format` first, json_object when the server refuses it."""
        if not self.json_schema_supported:
            return self._create(messages, JSON_OBJECT_FORMAT)
        try:
            return self._create(messages, schema_format)
        except SCHEMA_REFUSALS:
            completion = self._create(messages, JSON_OBJECT_FORMAT)
        # Only a server that then accepts json_object has shown that json_schema was the
        # problem; any other 400 (a prompt too long, say) fails again and changes nothing.
        self.json_schema_supported = False
        return completion

    def _create(self, messages, response_format):
        try:
            return self.client.chat.completions.create(
                model=self.model, messages=messages, response_format=response_format
            )
        except openai.OpenAIError as error:
            if response_format is not JSON_OBJECT_FORMAT and isinstance(error, SCHEMA_REFUSALS):
                raise
            raise _coach_error(error, self) from error


def shared_client(*, base_url, api_key, timeout, max_retries):
    """This process's openai client for the endpoint and options, made on first use. Keyed by
    the process too: a forked worker must not share its parent's connections."""
    return _client(base_url, api_key, float(timeout), max_retries, os.getpid())


@lru_cache(maxsize=16)
def _client(base_url, api_key, timeout, max_retries, pid):
    # Local servers need no key, but the client refuses to start without one.
    return openai.OpenAI(
        base_url=base_url,
        api_key=api_key or "not-needed",
        timeout=timeout,
        max_retries=max_retries,
    )


# --- reading the answer -------------------------------------------------------------------

_FENCE = re.compile(r"^\s*```(?:json)?\s*\n(?P<body>.*?)\n?\s*```\s*$", re.DOTALL)


def answer_text(completion):
    """The text of a completion's first choice; CoachAnswerError when there is none to read."""
    choices = getattr(completion, "choices", None) or []
    if not choices:
        raise CoachAnswerError("the LLM endpoint answered without any choice")
    message = choices[0].message
    text = message.content or ""
    if not text.strip():
        refusal = getattr(message, "refusal", None)
        if refusal:
            raise CoachAnswerError(f"the model refused: {excerpt(refusal)}")
        raise CoachAnswerError(
            f"the model's answer is empty (finish reason {choices[0].finish_reason!r})"
        )
    if choices[0].finish_reason == "length":
        raise CoachAnswerError(
            f"the model's answer was cut off at its length limit: {excerpt(text)}", text
        )
    return text


def load_json(text):
    """The JSON value of an answer (a ```json fence around it is allowed); CoachAnswerError
    when it is not JSON."""
    fenced = _FENCE.match(text)
    try:
        return json.loads(fenced.group("body") if fenced else text)
    except json.JSONDecodeError as error:
        raise CoachAnswerError(
            f"the model's answer is not JSON ({error.msg} at character {error.pos}): "
            f"{excerpt(text)}",
            text,
        ) from None


def schema_problems(answer, validator):
    """What in the answer does not match the validator's schema, as "where: what" (at most
    five)."""
    errors = sorted(validator.iter_errors(answer), key=lambda error: list(error.path))
    return [f"{_where(error.path)}: {error.message}" for error in errors[:5]]


def _where(path):
    where = ""
    for part in path:
        where += f"[{part}]" if isinstance(part, int) else (f".{part}" if where else str(part))
    return where or "the answer"


def excerpt(text, limit=EXCERPT_LIMIT):
    """The start of a text on one line, for an error message."""
    text = " ".join(str(text).split())
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


# --- errors from the endpoint -------------------------------------------------------------


def _coach_error(error, coach):
    """A CoachError for a failed call, naming the status and the retries spent."""
    retries = f"after {coach.max_retries} retries" if coach.max_retries else "without retries"
    if isinstance(error, openai.APITimeoutError):
        return CoachError(
            f"the LLM endpoint did not answer within {coach.timeout:g} s (timeout, {retries})"
        )
    if isinstance(error, openai.APIConnectionError):
        return CoachError(
            f"could not connect to the LLM endpoint ({retries}): {excerpt(error.message)}"
        )
    if isinstance(error, openai.APIStatusError):
        status = error.status_code
        retried = status in RETRIED_STATUSES or status >= 500
        return CoachError(
            f"the LLM endpoint answered HTTP {status}"
            f"{f' {retries}' if retried else ''}: {excerpt(error.message)}"
        )
    return CoachError(f"the LLM call failed ({type(error).__name__}): {excerpt(error)}")
