"""Terms, stations, deputies, groups and departments: the organisation residents reach."""
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.core.extensions import db
from backend.core.db import UTCDateTime, str_enum, utcnow

LEVELS = ("national", "provincial", "municipal", "county", "township")
LEVEL_LABELS = {
    "national": "全国人大代表",
    "provincial": "省人大代表",
    "municipal": "市人大代表",
    "county": "区人大代表",
    "township": "乡镇人大代表",
}
LEVEL_SHORT = {"national": "全国", "provincial": "省", "municipal": "市",
               "county": "县（区）", "township": "乡（镇）"}
STATION_KINDS = ("home", "station", "point")
STATION_KIND_LABELS = {"home": "代表之家", "station": "代表联络站", "point": "代表联系点"}
DEFAULT_ACK_WORKDAYS = 2
DEFAULT_ANSWER_WORKDAYS = 15

deputy_stations = db.Table(
    "deputy_stations",
    sa.Column("deputy_id", sa.ForeignKey("deputies.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("station_id", sa.ForeignKey("stations.id", ondelete="CASCADE"), primary_key=True),
)


class Term(db.Model):
    __tablename__ = "terms"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(60), unique=True)  # 区第五届
    starts_on: Mapped[date | None] = mapped_column(sa.Date)
    ends_on: Mapped[date | None] = mapped_column(sa.Date)
    is_current: Mapped[bool] = mapped_column(default=False)


class DeputyGroup(db.Model):
    __tablename__ = "deputy_groups"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(60), unique=True)
    # Groups are reorganised within a term; a dissolved one stays for the record.
    is_active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())


class Station(db.Model):
    __tablename__ = "stations"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(80), unique=True)
    kind: Mapped[str] = mapped_column(str_enum("station_kind", *STATION_KINDS), default="station")
    address: Mapped[str] = mapped_column(sa.String(200), default="")
    latitude: Mapped[float | None] = mapped_column(sa.Float)
    longitude: Mapped[float | None] = mapped_column(sa.Float)
    # The two people in charge (负责人): [{"name": ..., "title": ..., "phone": ...}]
    heads: Mapped[list] = mapped_column(sa.JSON, default=list)
    opening_hours: Mapped[str] = mapped_column(sa.String(120), default="")
    phone: Mapped[str] = mapped_column(sa.String(30), default="")
    # Message clocks in working days; each station may set its own.
    ack_workdays: Mapped[int] = mapped_column(default=DEFAULT_ACK_WORKDAYS,
                                              server_default=str(DEFAULT_ACK_WORKDAYS))
    answer_workdays: Mapped[int] = mapped_column(default=DEFAULT_ANSWER_WORKDAYS,
                                                 server_default=str(DEFAULT_ANSWER_WORKDAYS))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    deputies = relationship("Deputy", secondary=deputy_stations, back_populates="stations",
                            order_by="Deputy.name")

    @property
    def kind_label(self) -> str:
        return STATION_KIND_LABELS[self.kind]


class Deputy(db.Model):
    __tablename__ = "deputies"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(40))
    level: Mapped[str] = mapped_column(str_enum("deputy_level", *LEVELS))
    term_id: Mapped[int | None] = mapped_column(sa.ForeignKey("terms.id"))
    group_id: Mapped[int | None] = mapped_column(sa.ForeignKey("deputy_groups.id"))
    constituency: Mapped[str] = mapped_column(sa.String(80), default="")
    occupation: Mapped[str] = mapped_column(sa.String(120), default="")
    expertise: Mapped[str] = mapped_column(sa.String(200), default="")
    intro: Mapped[str] = mapped_column(sa.Text, default="")
    phone: Mapped[str | None] = mapped_column(sa.String(20), unique=True)
    photo_path: Mapped[str | None] = mapped_column(sa.String(200))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)

    term = relationship(Term)
    group = relationship(DeputyGroup)
    stations = relationship(Station, secondary=deputy_stations, back_populates="deputies",
                            order_by=Station.name)

    @property
    def level_label(self) -> str:
        return LEVEL_LABELS[self.level]

    @property
    def primary_station(self):
        return self.stations[0] if self.stations else None


class Department(db.Model):
    __tablename__ = "departments"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(80), unique=True)
    contact_name: Mapped[str] = mapped_column(sa.String(40), default="")
    contact_phone: Mapped[str] = mapped_column(sa.String(30), default="")
    is_active: Mapped[bool] = mapped_column(default=True)
