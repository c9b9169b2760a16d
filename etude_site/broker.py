"""The embedded broker: kombu's filesystem transport, with messages written atomically.

kombu's own transport writes a message file in place while a worker may already be moving it
away to read it, so a worker can read a half-written (empty) message and crash its consumer.
Here a message is written to a hidden temporary file and renamed into the queue folder, which
is atomic on POSIX filesystems; the rest is kombu's.
"""

import os
import tempfile
import uuid
from time import monotonic

from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        descriptor, temporary = tempfile.mkstemp(prefix=".writing-", dir=self.data_folder_out)
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(str_to_bytes(dumps(payload)))
            os.replace(temporary, os.path.join(self.data_folder_out, name))
        except OSError as error:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise filesystem.ChannelError(f"Cannot add message {name!r} to the queue") from error


class Transport(filesystem.Transport):
    Channel = Channel


def use_atomic_filesystem_transport():
    """Make `filesystem://` broker URLs use this transport in this process."""
    TRANSPORT_ALIASES["filesystem"] = "etude_site.broker:Transport"
