"""gunicorn's settings for Trustline: `gunicorn -c gunicorn.conf.py 'backend:create_app()'`.

The settings and hooks live in the package (backend/gunicorn_config.py), so that an installed
wheel has them too: `gunicorn -c python:backend.gunicorn_config 'backend:create_app()'`.
"""

from backend.gunicorn_config import *  # noqa: F403
