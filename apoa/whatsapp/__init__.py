"""The WhatsApp channel: the Cloud API's webhook (views.py), the job that reads each delivery
(inbound.py), the conversation (conversation.py), sending through the Graph API (outbound.py,
sending.py, graph.py), officers' questions (questions.py), status messages (status.py), the local
fake of the Graph API (fake_graph.py) and the simulator page (simulator.py)."""
