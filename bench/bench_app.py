"""The real application plus two reference endpoints, served by gunicorn for bench/submit_bench.py:
- POST /bench/bare: a bare Flask endpoint (parse JSON, answer JSON; no database);
- POST /bench/naive: a naive one-row ORM insert (one Message row, no validation, no event,
  no outbox, no idempotency, one commit).
"""
import uuid

from flask import Blueprint, jsonify, request

from backend import create_app
from backend.core.extensions import csrf, db
from backend.messages.models import Message
from backend.core.timeutil import utcnow

bench = Blueprint("bench", __name__, url_prefix="/bench")


@bench.post("/bare")
def bare():
    data = request.get_json()
    return jsonify(ok=True, n=len(data.get("body", "")))


@bench.post("/naive")
def naive():
    data = request.get_json()
    now = utcnow()
    message = Message(station_id=data["station_id"], body=data["body"], created_at=now,
                      ack_due_at=now, answer_due_at=now, idempotency_key=uuid.uuid4().hex)
    db.session.add(message)
    db.session.commit()
    return jsonify(id=message.id), 201


app = create_app()
csrf.exempt(bench)
app.register_blueprint(bench)
