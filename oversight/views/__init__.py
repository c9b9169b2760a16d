"""Pages for reviewers, operators and auditors; each checks the role on the server.

- review: the review queue, strategies and taxonomy proposals under review, their decisions,
  strategy histories, and the steps every review page shares
- scenarios: a proposed practice scenario (an LLM-written variant) beside its original, and
  the decisions on it
- forms: the forms of those pages
"""
