"""Pages for reviewers, operators and auditors; each checks the role on the server.

- overview: the health check
- review: the review queue, review items, decisions and strategy histories
"""

from oversight.views.overview import healthz

__all__ = ["healthz"]
