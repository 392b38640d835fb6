"""The stream decoders: multiplexed frames and chunked bodies, on two backends.

Layout, top to bottom (a module imports only from the layers below it):

* :mod:`~wireproto.codec.mux`, :mod:`~wireproto.codec.chunked`: the public
  faces (also importable as :mod:`wireproto.mux` and :mod:`wireproto.chunked`).
* :mod:`~wireproto.codec.backend`: the one switch between the backends.
* :mod:`~wireproto.codec.python` and :mod:`~wireproto.codec.native`: the two
  backends, siblings of identical behaviour (the C one built from native/).
* :mod:`~wireproto.codec.views` (byte views, pieces, the decoder Protocols)
  and :mod:`~wireproto.codec.sinks` (the sink contract of ``feed_into``).
"""
