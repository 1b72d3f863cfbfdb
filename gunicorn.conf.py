"""Production gunicorn settings: `gunicorn -c gunicorn.conf.py portal.wsgi`."""

import os

bind = os.environ.get("BIND", "0.0.0.0:" + os.environ.get("PORT", "8000"))
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = 30
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then to bound memory growth.
max_requests = 2000
max_requests_jitter = 200
accesslog = "-"
# No query strings in the access log: some callers put credentials there (x_key/access_token).
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)ss'
# Nor password-reset tokens: their links' paths are logged with <token> instead.
logger_class = "core.access_log.AccessLogger"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
