"""Desk views for articles."""

from decimal import Decimal

from flask_appbuilder import ModelView
from flask_babel import lazy_gettext as _l
from wtforms import SelectField

from ..datamodel import Interface
from ..models import VAT_RATES, Article
from .mixins import ExportMixin, RulesMixin, decimal_choice, local_datetime, money, percent, yes_no


class ArticleView(RulesMixin, ExportMixin, ModelView):
    datamodel = Interface(Article)
    list_title = _l("Articles")
    show_title = _l("Article")
    add_title = _l("New article")
    edit_title = _l("Edit article")
    label_columns = {
        "article_no": _l("Article no."),
        "name": _l("Name"),
        "gross_price": _l("Gross price"),
        "vat_rate": _l("VAT rate"),
        "discountable_by_absolute_vouchers": _l("May be discounted by absolute vouchers"),
        "active": _l("Active"),
        "created_at": _l("Created at"),
        "updated_at": _l("Updated at"),
    }
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
                                coerce=decimal_choice, default=Decimal("19")),
    }
    edit_form_extra_fields = add_form_extra_fields
    formatters_columns = {"vat_rate": percent, "gross_price": money,
                          "discountable_by_absolute_vouchers": yes_no,
                          "active": yes_no, "created_at": local_datetime,
                          "updated_at": local_datetime}
    base_order = ("article_no", "asc")
