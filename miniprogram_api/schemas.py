"""Marshmallow output schemas: what the mini-program is shown."""
from marshmallow import Schema, fields


class StationBrief(Schema):
    id = fields.Int()
    name = fields.Str()
    kind_label = fields.Str()
    address = fields.Str()


class DeputyCard(Schema):
    """A deputy as the public sees them: no phone, no internal fields."""
    token = fields.Str()
    name = fields.Str()
    level = fields.Str()
    level_label = fields.Str()
    occupation = fields.Str()
    expertise = fields.Str()
    intro = fields.Str()
    photo_url = fields.Str(allow_none=True)
    stations = fields.List(fields.Nested(StationBrief))
    next_reception_date = fields.Date()
