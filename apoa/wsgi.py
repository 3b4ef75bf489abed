"""The WSGI application gunicorn serves: `gunicorn -c deploy/gunicorn.conf.py apoa.wsgi:app`.

Settings come from the environment (and, outside production, the instance folder's `.env`), as for
every other entry point; see apoa/config.py.
"""
import gc

from apoa import create_app

app = create_app()
# The app's own objects (some 270,000: modules, SQLAlchemy's and Babel's tables) are never garbage:
# frozen, the collector's full passes skip them, which otherwise took 50-300 ms every ten or so
# views of the Ditjen's dashboard (bench/summaries.py, issue 16).
gc.freeze()
