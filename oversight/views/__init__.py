"""Pages for reviewers, operators and auditors; each checks the role on the server.

- overview: the home page and the health check
- review: the review queue, review items, decisions and strategy histories
"""

from oversight.views.overview import healthz, home

__all__ = ["healthz", "home"]
