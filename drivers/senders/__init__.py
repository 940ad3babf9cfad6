"""The table of SMS senders, by `type:` name. Adding one is a module and a line here."""

from drivers.base import DriverEntry
from drivers.senders.gsm.config import GsmConfig
from drivers.senders.log_config import LogConfig
from drivers.senders.twilio_config import TwilioConfig
from drivers.senders.webhook_config import WebhookConfig

SENDERS: dict[str, DriverEntry] = {
    "log": DriverEntry(LogConfig, "drivers.senders.log:LogSender"),
    "gsm": DriverEntry(
        GsmConfig,
        "drivers.senders.gsm.sender:GsmSender",
        doctor="drivers.senders.gsm.doctor:check",
        cost="drivers.senders.gsm.pdu:text_cost",
        preview="drivers.senders.gsm.preview:preview",
    ),
    "twilio": DriverEntry(
        TwilioConfig,
        "drivers.senders.twilio:TwilioSender",
        doctor="drivers.senders.cloud_doctor:check_twilio",
    ),
    "webhook": DriverEntry(
        WebhookConfig,
        "drivers.senders.webhook:WebhookSender",
        doctor="drivers.senders.cloud_doctor:check_webhook",
    ),
}
