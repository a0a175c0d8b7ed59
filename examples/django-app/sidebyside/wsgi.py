"""The WSGI application gunicorn serves (`gunicorn sidebyside.wsgi`)."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sidebyside.settings")
application = get_wsgi_application()
