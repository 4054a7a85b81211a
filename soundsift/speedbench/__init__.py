"""``soundsift bench speed``: real-time factor and peak memory of the torch and ONNX Runtime engines.

Every case (engine, input length, query count) runs in a fresh process, so that its peak
RSS is its own; the report states the machine, the thread count, the load on the machine
while it ran, and the command that made it.
"""
