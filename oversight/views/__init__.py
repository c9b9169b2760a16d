"""Pages for reviewers, operators and auditors; each checks the role on the server.

- review: the review queue and bulk decisions on the items selected in it
- strategies: a strategy under review and the decisions on it; a strategy's history and the
  restoring of an earlier version
- proposals: a taxonomy proposal under review and the decisions on it
- scenarios: a proposed practice scenario (an LLM-written variant) beside its original, and
  the decisions on it
- common: what those pages share: the role checks, claiming an item, its neighbours in the
  queue and the decision flow
- forms: the forms of those pages
"""
