"""The counselors' web console: server-rendered pages over the same services as the API.

It holds no rule of its own: every action calls a domain's service, and every page renders
what the API's viewer-aware schemas give a counselor (docs/console.md).
"""
