from flask import Blueprint

bp = Blueprint("cases", __name__)


@bp.get("/")
def my_cases():
    return "x"
