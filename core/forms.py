"""Dashboard forms only shape input; the rules live in the services, whose errors land here."""

from django import forms

from core.errors import ServiceError


class ServiceForm(forms.Form):
    """A form whose values go to a service; `add_service_error` shows the service's refusal."""

    def add_service_error(self, error: ServiceError) -> None:
        """Show the error under the field it names, or above the form when it names none."""
        self.add_error(error.field if error.field in self.fields else None, error.message)
