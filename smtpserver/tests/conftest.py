from alerts.tests.support import fast_alerts, webhook_receiver  # noqa: F401
from smtpserver.tests.support import (  # noqa: F401
    client_tls,
    fast_queue,
    start_server,
    tls_files,
    upstream,
)
