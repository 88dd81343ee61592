"""Live updates of orders: Server-Sent Events streams, the staff firehose and long-poll."""
