"""Security headers for every response. (Being built.)"""


def init_app(app):
    pass
