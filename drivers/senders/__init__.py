"""The table of SMS senders, by `type:` name. Adding one is a module and a line here."""

from drivers.base import DriverEntry
from drivers.senders.gsm.config import GsmConfig
from drivers.senders.log_config import LogConfig
from drivers.senders.twilio_config import TwilioConfig
from drivers.senders.webhook_config import WebhookConfig

SENDERS: dict[str, DriverEntry] = {
    "log": DriverEntry(LogConfig, "drivers.senders.log:LogSender"),
    "gsm": DriverEntry(GsmConfig, "drivers.senders.gsm.sender:GsmSender"),
    "twilio": DriverEntry(TwilioConfig, "drivers.senders.twilio:TwilioSender"),
    "webhook": DriverEntry(WebhookConfig, "drivers.senders.webhook:WebhookSender"),
}
