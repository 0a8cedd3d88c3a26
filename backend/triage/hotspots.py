"""Hot issues (热点问题): messages about one place and one problem within a time window, grouped
on arrival and ranked by a heat index.

A message joins the cluster of the most similar recent message (character-bigram Jaccard of its
subject and the start of its body; candidates come from MinHash LSH and from an index of place
names, never from a scan), unless the two name different places; naming the same place lowers
the bar. Otherwise it starts a cluster. Messages older than the window leave the
LSH tables as newer ones arrive, so each arrival costs the same whatever the archive's size.

Heat counts residents, not messages (ten messages from one resident are one voice), weighs
support (likes) on a log scale, and halves every `half_life_days` since the cluster's last message.
"""
import math
import operator
import re
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from backend.triage.minhash import LSHIndex, MinHasher
from backend.triage.text import compact, normalise

NUM_PERM, BANDS = 64, 32  # two rows a band: pairs at Jaccard 0.25 become candidates 87 % of the time
THRESHOLD = 0.25
SAME_PLACE_THRESHOLD = 0.15  # residents naming the same estate share fewer words and still mean one issue
# A message this close to a live one adds nothing as a match target: it joins the cluster but is not
# indexed, so a hot issue's hundreds of near-copies do not swell every LSH bucket they fall in.
REDUNDANT = 0.7
PLACE_BUCKET = 200  # recent messages per place name checked as candidates
HEAD_CHARS = 120  # the subject and the start of the body say where and what; the rest is story

# Place names end in one of these; the two characters before (after any 市/区/县/省) tell them apart.
_PLACE_KIND = re.compile(
    r"小区|花园|家园|新村|公寓|大厦|广场|苑|城|村|镇|街道|社区|大道|路|街|巷|"
    r"学校|小学|中学|学院|大学|幼儿园|医院|公司|市场|商场|工地|项目|楼盘|园区"
)
_NAME_BEFORE = re.compile(r"[\u4e00-\u9fffa-z0-9]{2,8}$")
_ADMIN = re.compile(r".*[省市区县]")


def places(text: str, normalised: bool = False) -> set[str]:
    """Place names as keys: the last two characters of the name and its kind ("桂花苑", "东湖小区"),
    so "反映桂花苑小区" and "桂花苑小区" agree (the extractor cannot always tell a verb from a
    name's first characters)."""
    text = text if normalised else normalise(text)
    found = set()
    for m in _PLACE_KIND.finditer(text):
        before = _NAME_BEFORE.search(text, max(0, m.start() - 8), m.start())
        if before:
            name = _ADMIN.sub("", before.group())
            if len(name) >= 2:
                found.add(name[-2:] + m.group())
    return found


def _bigrams(subject: str, head: str) -> frozenset:
    s = compact(subject, normalised=True) + "|" + compact(head, normalised=True)[:HEAD_CHARS]
    return frozenset(map(operator.add, s, s[1:]))  # the bigram strings themselves: built in C


def _jaccard(a: frozenset, b: frozenset) -> float:
    inter = len(a & b)  # sets of ~150 items: faster than numpy's intersect1d at this size
    union = len(a) + len(b) - inter
    return inter / union if union else 0.0


@dataclass
class Cluster:
    id: int
    title: str  # the first message's subject
    keys: list = field(default_factory=list)
    residents: set = field(default_factory=set)
    likes: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None
    places: set = field(default_factory=set)

    def heat(self, now: datetime, half_life_days: float = 7.0, like_weight: float = 0.5) -> float:
        return heat(len(self.residents), self.likes, self.last_at, now, half_life_days, like_weight)


def heat(residents: int, likes: int, last_at: datetime, now: datetime, half_life_days: float = 7.0,
         like_weight: float = 0.5) -> float:
    """The heat index: distinct residents plus support on a log scale, halved every
    `half_life_days` since the last message."""
    age_days = max(0.0, (now - last_at).total_seconds() / 86400)
    return (residents + like_weight * math.log1p(likes)) * 0.5 ** (age_days / half_life_days)


@dataclass(frozen=True)
class _Item:
    key: object
    at: datetime
    bigrams: frozenset
    bands: list  # its LSH band keys
    places: frozenset
    cluster: int


class HotspotIndex:
    def __init__(self, window_days: float = 30, threshold: float = THRESHOLD,
                 same_place_threshold: float = SAME_PLACE_THRESHOLD, new_id=None):
        """`new_id(at)` gives a cluster opened at `at` its id (a database row's); default: 1, 2, 3…"""
        self.window = timedelta(days=window_days)
        self.threshold = threshold
        self.same_place_threshold = same_place_threshold
        self.hasher = MinHasher(NUM_PERM, seed=2)
        self.lsh = LSHIndex(NUM_PERM, BANDS)
        self.clusters: dict[int, Cluster] = {}
        self._live: dict[object, _Item] = {}  # messages still inside the window
        self._order: deque = deque()  # their keys in arrival order, for expiry
        self._by_place: dict[str, deque] = defaultdict(lambda: deque(maxlen=PLACE_BUCKET))
        self._next_id = 1
        self._new_id = new_id or self._count_id
        self.comparisons = 0  # similarity computations so far: what an arrival costs

    def _count_id(self, _at=None) -> int:
        self._next_id += 1
        return self._next_id - 1

    def _features(self, subject: str, body: str):
        subject_n = normalise(subject)
        head = normalise((body or "")[:HEAD_CHARS + 40])  # the rest of a long story never reaches the features
        grams = _bigrams(subject_n, head)
        # hash() is salted per process, which is fine: this index lives in one process and is
        # rebuilt from the database, never saved
        bands = self.lsh.band_keys(self.hasher.signature([hash(g) & 0xFFFFFFFF for g in grams]))
        return grams, bands, frozenset(places(f"{subject_n} {head}", normalised=True))

    def add(self, key, subject: str, body: str, at: datetime, resident=None, likes: int = 0) -> Cluster:
        """Place one arriving message in a cluster (an existing one or a new one) and return it.
        `resident` identifies the writer (None: an anonymous writer, counted once per message)."""
        self._expire(at)
        grams, bands, where = self._features(subject, body)
        candidates = self.lsh.candidates(bands)
        for name in where:
            candidates.update(k for k in self._by_place.get(name, ()) if k in self._live)
        best, best_margin, best_score = None, 0.0, 0.0
        joinable = set()  # clusters already matched: a hot issue's 500th message checks one, not 499
        for other_key in candidates:
            other = self._live[other_key]
            if other.cluster in joinable:
                continue
            if where and other.places:
                if where.isdisjoint(other.places):
                    continue  # same complaint, different estate: another hot issue
                bar = self.same_place_threshold
            else:
                bar = self.threshold
            score = _jaccard(grams, other.bigrams)
            self.comparisons += 1
            if score >= bar:
                joinable.add(other.cluster)
                if score - bar >= best_margin:
                    best, best_margin, best_score = other, score - bar, score
        if best is None:
            cluster = Cluster(self._new_id(at), subject or body[:30], first_at=at)
            self.clusters[cluster.id] = cluster
        else:
            cluster = self.clusters[best.cluster]
        self._join(cluster, key, at, resident, likes, grams, bands, where, indexed=best_score < REDUNDANT)
        return cluster

    def restore(self, key, subject: str, body: str, at: datetime, cluster_id: int, resident=None,
                likes: int = 0) -> Cluster:
        """Put back a message whose cluster is already known (read from the database after a
        restart): no similarity is computed, so warming the index never re-decides a cluster."""
        self._expire(at)
        grams, bands, where = self._features(subject, body)
        cluster = self.clusters.get(cluster_id)
        if cluster is None:
            cluster = self.clusters[cluster_id] = Cluster(cluster_id, subject or body[:30], first_at=at)
            self._next_id = max(self._next_id, cluster_id + 1)
        self._join(cluster, key, at, resident, likes, grams, bands, where, indexed=True)
        return cluster

    def _join(self, cluster, key, at, resident, likes, grams, bands, where, indexed) -> None:
        cluster.keys.append(key)
        cluster.residents.add(resident if resident is not None else ("anonymous", key))
        cluster.likes += max(0, int(likes or 0))
        cluster.places |= where
        cluster.last_at = at if cluster.last_at is None else max(cluster.last_at, at)
        if indexed:
            self._live[key] = _Item(key, at, grams, bands, where, cluster.id)
            self._order.append(key)
            self.lsh.add(key, bands)
            for name in where:
                self._by_place[name].append(key)

    def discard(self, key) -> None:
        """Stop matching against a message (refused, held, deleted): it attracts no new ones."""
        item = self._live.pop(key, None)
        if item is not None:
            self.lsh.remove(key, item.bands)

    def add_likes(self, cluster_id: int, likes: int) -> None:
        self.clusters[cluster_id].likes += likes

    def prune(self, now: datetime) -> None:
        """Forget clusters whose last message left the window (none of theirs is live, so none
        can be joined); a long-running index then holds only the window's clusters."""
        for cid in [cid for cid, c in self.clusters.items() if c.last_at < now - self.window]:
            del self.clusters[cid]

    def _expire(self, now: datetime) -> None:
        while self._order:
            item = self._live.get(self._order[0])
            if item is not None and item.at >= now - self.window:
                break
            self._order.popleft()
            if item is not None:  # a discarded key has already left the tables
                del self._live[item.key]
                self.lsh.remove(item.key, item.bands)

    def ranked(self, now: datetime, limit: int = 20, min_residents: int = 2, **heat_args) -> list[tuple[Cluster, float]]:
        """Clusters with at least `min_residents` residents, hottest first."""
        scored = [(c, c.heat(now, **heat_args)) for c in self.clusters.values() if len(c.residents) >= min_residents]
        scored.sort(key=lambda pair: (-pair[1], pair[0].id))
        return scored[:limit]
