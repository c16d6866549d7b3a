# Receives one envelope from NATS (published by the test) and decodes it, then reports heap use.
# Run with -X heapsize=N to find the smallest heap that still works.
import gc
import micropython
import mp_util
import natsbridge as nb

P = mp_util.params()
nc = nb.connect(P["url"])
sid = nc.subscribe(P["subject"])
nc.flush()
gc.collect()
base = gc.mem_alloc()
mp_util.out(ready=True, base=base, free=gc.mem_free())
m = nc.next_msg(sid, 30)
gc.collect()
after_msg = gc.mem_alloc()
env = nb.smartreceive(m)
gc.collect()
after_decode = gc.mem_alloc()
v = env["payloads"][0][1]
mp_util.out(ok=True, base=base, after_msg=after_msg, after_decode=after_decode, len=len(v), sha256=mp_util.digest(v),
            heap=gc.mem_alloc() + gc.mem_free())
