"""The WSGI application gunicorn serves: `gunicorn -c deploy/gunicorn.conf.py apoa.wsgi:app`.

Settings come from the environment (and, outside production, the instance folder's `.env`), as for
every other entry point; see apoa/config.py.
"""
from apoa import create_app, ready_to_serve

app = ready_to_serve(create_app())
