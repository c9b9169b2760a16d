"""The coach: turns an attempt into a reflection and candidate strategies. Pure Python, no
database: the reflection pipeline builds an AttemptView and stores what comes back.

- base.py: the interface (AttemptView in, CoachResult out, the Coach protocol, CoachError).
- offline.py: the deterministic trace-diff coach; explanations.py and wording.py put its
  findings into words; alignment.py is the sequence alignment it reads the trace with.
- quality.py: the gate a candidate strategy passes before it reaches a reviewer.
- similarity.py: how close two strategies are (near-duplicates, same trigger, conflicts).
- endpoint.py: talking to any OpenAI-compatible endpoint for one JSON answer (the json_schema
  to json_object fallback, retries, errors, one client per process); llm.py: the LLM coach on
  it; variants.py: the same endpoint writing variants of practice scenarios at a requested
  difficulty; select.py picks the coach.
"""
