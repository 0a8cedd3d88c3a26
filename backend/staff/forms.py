"""WTForms for the staff pages (CSRF comes with every one)."""
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField, DateField, FieldList, FloatField, Form, FormField, IntegerField, PasswordField,
    SelectChoice, SelectField, SelectMultipleField, StringField, TextAreaField,
)
from wtforms.i18n import get_translations
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from backend.org.models import LEVEL_LABELS, LEVELS, STATION_KIND_LABELS
from backend.accounts.models import ROLE_LABELS, ROLES
from backend.org.models import DEFAULT_ACK_WORKDAYS, DEFAULT_ANSWER_WORKDAYS

# WTForms' own Chinese catalogue, for the few built-in messages we do not word ourselves.
_ZH = get_translations(["zh"])


def _choices(pairs) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _text(label, max_len, required=False, **kw):
    first = DataRequired(f"请填写{label}") if required else Optional()
    return StringField(label, filters=[_strip],
                       validators=[first, Length(max=max_len, message=f"{label}最多{max_len}个字")],
                       **kw)


PHONE = Regexp(r"^[0-9+\-() ]{5,20}$", message="请输入正确的电话号码")


class NumberField(FloatField):
    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError("请输入数字")


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class StaffForm(FlaskForm):
    class Meta:
        def get_translations(self, form):
            return _ZH

    def to_data(self) -> dict:
        """The plain values an operation takes."""
        return {name: f.data for name, f in self._fields.items() if name != "csrf_token"}


class LoginForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired("请输入用户名"), Length(max=40)])
    password = PasswordField("密码", validators=[DataRequired("请输入密码"), Length(max=128)])


class PasswordChangeForm(StaffForm):
    # Length and sameness are the operation's rules (change_own_password), said in Chinese there.
    old_password = PasswordField("原密码", validators=[DataRequired("请输入原密码")],
                                 render_kw={"autocomplete": "current-password"})
    new_password = PasswordField("新密码", validators=[DataRequired("请输入新密码")],
                                 description="至少 10 个字符，不要与用户名相同",
                                 render_kw={"autocomplete": "new-password"})
    confirm = PasswordField("确认新密码", validators=[DataRequired("请再输入一次新密码")],
                            render_kw={"autocomplete": "new-password"})


# ---- terms, deputy groups, departments ----

class TermForm(StaffForm):
    name = _text("名称", 60, required=True, description="例如：城关区第五届人民代表大会")
    starts_on = DateField("开始日期", validators=[Optional()])
    ends_on = DateField("结束日期", validators=[Optional()])
    is_current = BooleanField("设为本届")


class GroupForm(StaffForm):
    name = _text("名称", 60, required=True, description="例如：第一代表小组")


class DepartmentForm(StaffForm):
    name = _text("单位名称", 80, required=True)
    contact_name = _text("联系人", 40)
    contact_phone = _text("联系电话", 30)


# ---- stations ----

class HeadForm(Form):
    name = _text("姓名", 40)
    title = _text("职务", 40)
    phone = _text("电话", 30)


class StationForm(StaffForm):
    name = _text("名称", 80, required=True)
    kind = SelectField("类型", choices=_choices(STATION_KIND_LABELS.items()))
    address = _text("地址", 200)
    latitude = NumberField("纬度", validators=[
        Optional(), NumberRange(-90, 90, message="纬度应在 -90 到 90 之间")],
        description="用于地图导航，可不填")
    longitude = NumberField("经度", validators=[
        Optional(), NumberRange(-180, 180, message="经度应在 -180 到 180 之间")])
    opening_hours = _text("开放时间", 120, description="例如：周一至周五 9:00-17:00")
    phone = _text("电话", 30)
    # The two people in charge (负责人): two fixed rows.
    heads = FieldList(FormField(HeadForm), label="负责人", min_entries=2, max_entries=2)
    # The station's own message clocks, in Chinese working days.
    ack_workdays = IntegerField("受理期限", default=DEFAULT_ACK_WORKDAYS, validators=[
        InputRequired("请填写受理期限"), NumberRange(1, 30, message="受理期限应为 1 到 30 个工作日")],
        description="收到留言后几个工作日内受理")
    answer_workdays = IntegerField("答复期限", default=DEFAULT_ANSWER_WORKDAYS, validators=[
        InputRequired("请填写答复期限"), NumberRange(1, 90, message="答复期限应为 1 到 90 个工作日")],
        description="收到留言后几个工作日内答复")


# ---- deputies ----

class DeputyForm(StaffForm):
    name = _text("姓名", 40, required=True)
    level = SelectField("层级", choices=_choices((lv, LEVEL_LABELS[lv]) for lv in LEVELS),
                        default="county")
    term_id = SelectField("届次", coerce=int)
    group_id = SelectField("代表小组", coerce=int)
    constituency = _text("选区", 80)
    occupation = _text("职业", 120, description="居民会按职业挑选代表，请写具体")
    expertise = _text("专业特长", 200)
    intro = TextAreaField("简介", filters=[_strip],
                          validators=[Length(max=2000, message="简介最多2000字")])
    phone = StringField("手机号", filters=[_strip], validators=[Optional(), PHONE])
    photo = FileField("照片", description="JPG、PNG 或 WebP，不超过10MB；上传后会去除拍摄地点等信息")
    # Choices are set per user; the operation, not the choice list, guards which stations a
    # liaison may add, so a forged value is refused with 403 instead of a form error.
    station_ids = MultiCheckboxField("所在站点", coerce=int, validate_choice=False)

    def setup(self, *, terms, groups, stations):
        self.term_id.choices = _choices([(0, "未设置"), *((t.id, t.name) for t in terms)])
        self.group_id.choices = _choices([(0, "未设置"), *((g.id, g.name) for g in groups)])
        self.station_ids.choices = _choices(
            (s.id, s.name + ("" if s.is_active else "（已停用）")) for s in stations)
        return self

    def to_data(self) -> dict:
        data = super().to_data()
        data["term_id"] = data["term_id"] or None
        data["group_id"] = data["group_id"] or None
        upload = data.pop("photo")
        data["photo"] = upload.read() if upload and getattr(upload, "filename", "") else None
        data["station_ids"] = data["station_ids"] or []
        return data


# ---- QR codes ----

class RevokeCodeForm(StaffForm):
    reason = TextAreaField("停用原因", filters=[_strip], validators=[
        DataRequired("请填写停用原因"), Length(max=200, message="停用原因最多200字")],
        description="例如：海报张贴错误、二维码被冒用")


# ---- staff accounts ----

class AccountForm(StaffForm):
    username = StringField("用户名", filters=[_strip], validators=[
        DataRequired("请填写用户名"),
        Regexp(r"^[A-Za-z0-9_.-]{3,40}$", message="用户名为3到40位字母、数字、下划线、点或横线")],
        description="登录时使用，创建后不能修改")
    display_name = _text("显示名称", 40, required=True, description="例如：城关站联络员 何军")
    role = SelectField("角色", choices=_choices((r, ROLE_LABELS[r]) for r in ROLES),
                       default="liaison")
    deputy_id = SelectField("关联代表", coerce=int, description="角色为人大代表时必选")
    department_id = SelectField("关联单位", coerce=int, description="角色为承办单位时必选")
    station_ids = MultiCheckboxField("负责站点", coerce=int, description="角色为联络员时必选")

    def setup(self, *, deputies, departments, stations, editing=False):
        if editing:
            del self.username  # usernames never change once people use them to sign in
        self.deputy_id.choices = _choices([(0, "不关联"), *((d.id, d.name) for d in deputies)])
        self.department_id.choices = _choices(
            [(0, "不关联"), *((d.id, d.name) for d in departments)])
        self.station_ids.choices = _choices((s.id, s.name) for s in stations)
        return self

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        needs = {"deputy": (self.deputy_id, "请选择关联的代表"),
                 "department": (self.department_id, "请选择关联的承办单位"),
                 "liaison": (self.station_ids, "联络员至少要负责一个站点")}
        if self.role.data in needs:
            field, message = needs[self.role.data]
            if not field.data:
                field.errors = [*field.errors, message]
                ok = False
        return ok

    def to_data(self) -> dict:
        data = super().to_data()
        data["deputy_id"] = data["deputy_id"] or None
        data["department_id"] = data["department_id"] or None
        return data
