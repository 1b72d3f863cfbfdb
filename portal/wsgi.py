import os

from django.core.wsgi import get_wsgi_application

from core.wsgi import read_chunked_bodies

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

application = read_chunked_bodies(get_wsgi_application())
