"""The officers' side of reports: queue, report page, workflow actions. (Being built.)"""
from flask import Blueprint

bp = Blueprint("officer", __name__)
