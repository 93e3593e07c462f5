"""The login generation of each user: sessions and tokens carry the generation they were
issued under, and raising it ends every one of them (logout, password change, removal)."""

from flask_appbuilder import Model
from sqlalchemy import Column, ForeignKey, Integer


class LoginGeneration(Model):
    __tablename__ = "login_generation"

    user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="CASCADE"), primary_key=True)
    generation = Column(Integer, nullable=False, default=0, server_default="0")
