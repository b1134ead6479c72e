"""The learner's own profile: name, Kreis/kreisfreie Stadt and municipality."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from namalms.auth.forms import REQUIRED
from namalms.auth.views import district_choices
from namalms.learner.views import bp
from namalms.models import NOTIFICATION_KINDS
from namalms.services import ServiceError
from namalms.services import accounts, notifications


class ProfileForm(FlaskForm):
    name = StringField("Vor- und Nachname", validators=[DataRequired(REQUIRED), Length(max=200)])
    district_id = SelectField("Kreis bzw. kreisfreie Stadt", validators=[DataRequired(REQUIRED)], validate_choice=False)
    municipality = StringField("Kommune bzw. Institution", validators=[DataRequired(REQUIRED), Length(max=200)])


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    form = ProfileForm(obj=current_user)
    form.district_id.choices = district_choices()
    if form.validate_on_submit():
        try:
            issued = accounts.update_profile(current_user, name=form.name.data, district_id=form.district_id.data,
                                             municipality=form.municipality.data)
        except ServiceError as error:
            getattr(form, error.field or "name").errors.append(error.message)
        else:
            flash("Ihr Profil ist gespeichert. Bereits ausgestellte Zertifikate bleiben unverändert.", "success")
            for certificate in issued:
                flash(f"Neu ausgestellt: {certificate.definition.title} ({certificate.number}).", "success")
            return redirect(url_for("learner.profile"))
    return render_template("learner/profile.html", form=form, kinds=NOTIFICATION_KINDS,
                           settings=notifications.settings_of(current_user)), 422 if request.method == "POST" else 200
