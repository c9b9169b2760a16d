"""Pages for reviewers, operators and auditors; each checks the role on the server.

- review: the review queue, review items, decisions and strategy histories
"""
