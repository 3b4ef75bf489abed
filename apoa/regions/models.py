"""Administrative regions (Kemendagri codes), their subdivided lookup pieces, and offices."""
import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from geoalchemy2 import Geometry
from sqlalchemy import (CheckConstraint, Column, DateTime, Float, ForeignKey, Index, Integer,
                        String, Table, Text, func, text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from apoa.core.vocabulary import TitledEnum, titled
from apoa.extensions import db


class RegionLevel(str, enum.Enum):
    provinsi = "provinsi"
    kabupaten_kota = "kabupaten_kota"
    kecamatan = "kecamatan"

    @property
    def title(self):
        return REGION_LEVEL_TITLES[self]


REGION_LEVEL_TITLES = {
    RegionLevel.provinsi: _l("Province"),
    RegionLevel.kabupaten_kota: _l("Regency/City"),
    RegionLevel.kecamatan: _l("District"),
}

# "31" provinsi, "31.71" kabupaten/kota, "31.71.01" kecamatan: the level is in the code's shape.
KODE_PATTERN_SQL = r"kode ~ '^[0-9]{2}(\.[0-9]{2}(\.[0-9]{2,3})?)?$'"


class Region(db.Model):
    __tablename__ = "region"
    __table_args__ = (
        CheckConstraint("level IN ('provinsi', 'kabupaten_kota', 'kecamatan')", name="level_known"),
        CheckConstraint(KODE_PATTERN_SQL, name="kode_format"),
        CheckConstraint("(level = 'provinsi') = (parent_kode IS NULL)",
                        name="parent_unless_provinsi"),
        Index("ix_region_geom", "geom", postgresql_using="gist"),
        Index("ix_region_level_parent", "level", "parent_kode"),
        # Place search by name despite typos (apoa/maps/places.py; migration 0012 adds pg_trgm).
        Index("ix_region_nama_trgm", "nama", postgresql_using="gin",
              postgresql_ops={"nama": "gin_trgm_ops"}),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kode: Mapped[str] = mapped_column(String(16), unique=True)
    nama: Mapped[str] = mapped_column(String(120))
    level: Mapped[str] = mapped_column(String(20))
    parent_kode: Mapped[str | None] = mapped_column(String(16))
    label_lat: Mapped[float | None] = mapped_column(Float)
    label_lon: Mapped[float | None] = mapped_column(Float)
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False)

    def __repr__(self):
        return f"<Region {self.kode} {self.nama}>"


class RegionPart(db.Model):
    """A small piece of a region (ST_Subdivide): point lookups test these, never the raw outline.

    Each piece carries its region's code and kabupaten, and each level has its own index, so a
    lookup is one index search with no join (see lookup.py).
    """

    __tablename__ = "region_part"
    __table_args__ = (
        Index("ix_region_part_kecamatan_geom", "geom", postgresql_using="spgist",
              postgresql_where=text("level = 'kecamatan'")),
        Index("ix_region_part_kabupaten_geom", "geom", postgresql_using="spgist",
              postgresql_where=text("level = 'kabupaten_kota'")),
        Index("ix_region_part_region_id", "region_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id", ondelete="CASCADE"))
    level: Mapped[str] = mapped_column(String(20))
    kode: Mapped[str] = mapped_column(String(16))
    # The kabupaten/kota the piece lies in: the region itself for a kabupaten piece, the parent
    # for a kecamatan piece.
    kab_id: Mapped[int] = mapped_column(ForeignKey("region.id", ondelete="CASCADE"))
    geom = mapped_column(Geometry("POLYGON", srid=4326, spatial_index=False), nullable=False)


class RegionSource(db.Model):
    """A GeoJSON file that was imported, by content hash, so an unchanged file is not re-read."""

    __tablename__ = "region_source"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    features: Mapped[int]
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                  server_default=func.now())


class OfficeKind(TitledEnum):
    ditjen = "ditjen"
    kanwil = "kanwil"
    kantor = "kantor"


titled(OfficeKind, {OfficeKind.ditjen: _l("Directorate General"),
                    OfficeKind.kanwil: _l("Regional Office (Kanwil)"),
                    OfficeKind.kantor: _l("Immigration Office")})

office_region = Table(
    "office_region",
    db.metadata,
    Column("office_id", Integer, ForeignKey("office.id", ondelete="CASCADE"), primary_key=True),
    # A kabupaten/kota belongs to one office at most, so a point resolves to one office.
    Column("region_id", Integer, ForeignKey("region.id", ondelete="CASCADE"), primary_key=True,
           unique=True),
)


class Office(db.Model):
    __tablename__ = "office"
    __table_args__ = (
        CheckConstraint("kind IN ('ditjen', 'kanwil', 'kantor')", name="kind_known"),
        CheckConstraint("(kind = 'ditjen') = (parent_id IS NULL)", name="parent_unless_ditjen"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("office.id", ondelete="RESTRICT"))
    # What residents are told when they ask where to go (WhatsApp's information menu).
    address: Mapped[str | None] = mapped_column(Text)
    hours: Mapped[str | None] = mapped_column(String(200))

    parent = relationship("Office", remote_side=[id], back_populates="children")
    children = relationship("Office", back_populates="parent", order_by="Office.name")
    regions = relationship(Region, secondary=office_region, order_by=Region.kode)

    def __repr__(self):
        return f"<Office {self.code}>"
