"""The console at /console: the pages where a finance team works and an integrator registers
webhook endpoints (issue 17, docs/console.md).

Server-rendered (Jinja2 + htmx, vendored), pt-BR first with English. Every action goes through
the same services as the API, so it raises the same events and refuses with the same errors;
a page only translates a form into a service call and a result or a problem into HTML.
"""
