"""Desk views for articles."""

from decimal import Decimal

from flask_appbuilder import ModelView
from flask_babel import lazy_gettext as _l
from wtforms import SelectField

from ..datamodel import Interface
from ..labels import ARTICLE_LABELS, ARTICLE_TITLES
from ..models import VAT_RATES, Article
from .localized import rate_choice
from .mixins import ExportMixin, RulesMixin, local_datetime, money, percent, yes_no


class ArticleView(RulesMixin, ExportMixin, ModelView):
    datamodel = Interface(Article)
    list_title, show_title, add_title, edit_title = ARTICLE_TITLES
    label_columns = ARTICLE_LABELS
    list_columns = ["article_no", "name", "gross_price", "vat_rate",
                    "discountable_by_absolute_vouchers", "active"]
    money_columns = ("gross_price",)
    search_columns = list_columns
    order_columns = list_columns
    show_columns = list_columns + ["created_at", "updated_at"]
    add_columns = list_columns
    edit_columns = list_columns
    add_form_extra_fields = {
        "vat_rate": SelectField(_l("VAT rate"), choices=[(str(r), f"{r} %") for r in VAT_RATES],
                                coerce=rate_choice, default=Decimal("19")),
    }
    edit_form_extra_fields = add_form_extra_fields
    formatters_columns = {"vat_rate": percent, "gross_price": money,
                          "discountable_by_absolute_vouchers": yes_no,
                          "active": yes_no, "created_at": local_datetime,
                          "updated_at": local_datetime}
    base_order = ("article_no", "asc")
