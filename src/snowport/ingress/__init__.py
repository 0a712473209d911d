"""Public endpoints: requests for an endpoint's host are routed, authenticated and proxied to the service.

One job per module: hosts (which host is which endpoint), listeners (the loopback addresses Snowport listens
on for them), auth (token -> identity), login (browser login and session cookies), headers (request and
response rewriting, spcs-reference 6.4/6.5), cors (6.6), proxy (HTTP and WebSocket forwarding), app (the
ASGI entry that ties them together, in front of every other route).
"""
