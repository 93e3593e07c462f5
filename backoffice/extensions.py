"""Extension singletons, bound to an app in `app.create_app` (microblog/Superset style).

The AppBuilder itself is created per app inside the factory: a module-level one breaks
a second app in the same process (FAB notes).
"""

from flask_appbuilder.models.sqla.base import SQLA
from flask_migrate import Migrate

db = SQLA()
migrate = Migrate()
