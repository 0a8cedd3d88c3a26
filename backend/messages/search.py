"""Chinese full-text search over messages, the same on SQLite and PostgreSQL.

A message's searchable text (body, place and the bodies merged into it) is stored as
`messages.search_tokens`: its CJK character bigrams and its latin/digit words, de-duplicated
and space-joined, computed in Python when the row is written. A query is cut into words by
jieba, and each word into the same bigrams; every bigram must be present (AND), and latin
words and numbers match as prefixes. So a word
matches inside a longer compound (停车 in 停车场), words need not be adjacent (停车 收费 finds
停车场乱收费), and nothing depends on how jieba happened to cut a message when it was saved.

The database only matches exact tokens, with no parser of its own in the way:
- PostgreSQL: a stored generated column search_vector =
  array_to_tsvector(string_to_array(search_tokens, ' ')), GIN-indexed, queried with a tsquery
  built from quoted lexemes ('停车' & '收费');
- SQLite: an FTS5 table over messages.search_tokens (external content, kept by triggers; the
  unicode61 tokenizer splits only on the spaces we put there).
"""
import re

import jieba
import sqlalchemy as sa
from sqlalchemy import event

from backend.core.errors import ValidationFailed
from backend.core.extensions import db
from backend.messages.models import Message
from backend.triage.text import normalise

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_CHAR = re.compile(f"[{_CJK}]")
# A run of CJK characters, or a run of other letters and digits (latin words, numbers).
_RUN = re.compile(rf"([{_CJK}]+)|([^\W_{_CJK}]+)")
_WORD_MAX = 30  # a latin run longer than this is a URL or a hash, not a word anyone types
QUERY_MAX_CHARS = 100
QUERY_MAX_TERMS = 16
TOO_SHORT = "请输入至少两个字的关键词（单个汉字和标点符号不参与查找）"


def index_tokens(*texts: str) -> str:
    """The search tokens of `texts`, space-joined, each once, in order of appearance."""
    seen = {}
    for text in texts:
        for cjk, word in _RUN.findall(normalise(text)):
            if cjk:
                for i in range(len(cjk) - 1):
                    seen.setdefault(cjk[i:i + 2], None)
            else:
                seen.setdefault(word[:_WORD_MAX], None)
    return " ".join(seen)


def query_terms(q: str) -> list[str]:
    """The tokens all of which a message must have to match `q`; a clear error when `q` has
    nothing searchable (only punctuation, single characters)."""
    terms = {}
    for cjk, word in _RUN.findall(normalise((q or "").replace("\x00", " ")[:QUERY_MAX_CHARS])):
        if word:
            terms.setdefault(word[:_WORD_MAX], None)
            continue
        start = 0
        for piece in jieba.lcut(cjk, HMM=False):
            if len(piece) >= 2:
                for i in range(len(piece) - 1):
                    terms.setdefault(piece[i:i + 2], None)
            elif len(cjk) >= 2:
                # A one-character word (修 in 修路灯) is kept with its neighbour in the query.
                at = min(start, len(cjk) - 2)
                terms.setdefault(cjk[at:at + 2], None)
            start += len(piece)
    if not terms:
        raise ValidationFailed(TOO_SHORT, code="search_query_too_short",
                               errors={"q": [TOO_SHORT]})
    if len(terms) > QUERY_MAX_TERMS:
        raise ValidationFailed("关键词太长，请只输入最能说明问题的几个词", code="search_query_too_long",
                               errors={"q": ["关键词太长，请只输入最能说明问题的几个词"]})
    return list(terms)


def match_clause(terms: list[str]):
    """Messages having every one of `terms` (from query_terms)."""
    dialect = db.session.get_bind(mapper=sa.inspect(Message)).dialect.name
    # Latin words and numbers match as prefixes (第1 finds 第12条, 3 finds 3号楼 and 302室);
    # tokens are letters and digits only, so quoting them needs no escaping.
    if dialect == "postgresql":
        query = " & ".join(f"'{t}'" if _is_cjk(t) else f"'{t}':*" for t in terms)
        return _SEARCH_VECTOR.op("@@")(sa.cast(query, _TSQUERY))
    match = " AND ".join(f'"{t}"' if _is_cjk(t) else f'"{t}"*' for t in terms)
    return Message.id.in_(sa.text("SELECT rowid FROM messages_fts WHERE messages_fts MATCH :match")
                          .bindparams(match=match).columns(rowid=sa.Integer))


def _is_cjk(term: str) -> bool:
    return bool(_CJK_CHAR.match(term))


class _TSQUERY(sa.types.UserDefinedType):
    cache_ok = True

    def get_col_spec(self, **kw):
        return "tsquery"


# PostgreSQL only, generated from search_tokens by the database (see the migration).
_SEARCH_VECTOR = sa.literal_column("messages.search_vector")


def searchable_text(message: Message, connection=None) -> str:
    """The tokens of a message: its body and place, and the bodies merged into it (its answer
    answers them too)."""
    merged = []
    if message.id is not None:
        conn = connection or db.session.connection()
        merged = conn.execute(sa.select(Message.body).where(
            Message.merged_into_id == message.id).order_by(Message.id)).scalars().all()
    return index_tokens(message.body or "", message.place or "", *merged)


def add_merged(into: Message, merged: Message) -> None:
    """`merged` joins the case `into`: its words find the case too. Appended in one UPDATE,
    so two messages merged into one case at once both keep their words (the row lock
    orders them; a recomputation from what each transaction saw would lose one)."""
    have = set((into.search_tokens or "").split(" "))
    extra = " ".join(t for t in index_tokens(merged.body or "").split(" ")
                     if t and t not in have)
    if extra:
        db.session.execute(sa.update(Message).where(Message.id == into.id).values(
            search_tokens=sa.case((Message.search_tokens == "", extra),
                                  else_=Message.search_tokens + " " + extra)),
            execution_options={"synchronize_session": False})
        db.session.expire(into, ["search_tokens"])


@event.listens_for(Message, "before_insert")
def _tokens_on_insert(mapper, connection, target):
    target.search_tokens = index_tokens(target.body or "", target.place or "")


@event.listens_for(Message, "before_update")
def _tokens_on_update(mapper, connection, target):
    state = sa.inspect(target)
    if state.attrs.body.history.has_changes() or state.attrs.place.history.has_changes():
        target.search_tokens = searchable_text(target, connection)
