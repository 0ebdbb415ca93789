#!/usr/bin/env python3
"""Writes a synthetic portplan topology with N pools to stdout (bench/scale.sh uses it).

Every tenth pool is a hardware-balanced Edge pool (two servers, four VIPs), every tenth plus one a
Director pool, the rest Front End pools of two servers; one reverse proxy and one client network.
The address plan grows with N, so every pool is distinct and the topology validates."""
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 10
out = []
w = out.append
w('name = "scale-%d"' % n)
w('[features]\nfederation = true\nxmpp = true\ncentralized-logging = true\noffice-web-apps = false')
w('[[zone]]\nname = "internet"\nkind = "internet"\nnetworks = ["0.0.0.0/0"]')
w('[[zone]]\nname = "perimeter-external"\nkind = "perimeter"\nnetworks = ["198.18.0.0/16"]')
w('[[zone]]\nname = "perimeter-internal"\nkind = "perimeter"\nnetworks = ["198.19.0.0/16"]')
w('[[zone]]\nname = "internal"\nkind = "internal"\nnetworks = ["10.0.0.0/8"]')
w('''[[firewall]]
name = "fw-external"
  [[firewall.interface]]
  name = "outside"
  zone = "internet"
  [[firewall.interface]]
  name = "dmz"
  zone = "perimeter-external"
  address = "198.18.0.1/16"
[[firewall]]
name = "fw-internal"
  [[firewall.interface]]
  name = "dmz"
  zone = "perimeter-internal"
  address = "198.19.0.1/16"
  [[firewall.interface]]
  name = "inside"
  zone = "internal"
  address = "10.0.0.1/8"''')


def ext(i, k):
    return "198.18.%d.%d" % (i // 10 + 1, k)


def perim(i, k):
    return "198.19.%d.%d" % (i // 10 + 1, k)


def lan(i, k):
    return "10.%d.%d.%d" % (i // 250 + 1, i % 250 + 1, k)


for i in range(n):
    if i % 10 == 0:
        w('[[pool]]\nname = "edge%d"\nrole = "edge"\nload_balancing = "hlb"' % i)
        for svc, k, snat in (("access", 100, "true"), ("webconf", 101, "true"), ("av", 102, "false")):
            w('  [[pool.vip]]\n  service = "%s"\n  zone = "perimeter-external"\n  address = "%s"\n  snat = %s'
              % (svc, ext(i, k), snat))
        w('  [[pool.vip]]\n  service = "internal"\n  zone = "perimeter-internal"\n  address = "%s"' % perim(i, 100))
        for s in (1, 2):
            w('''  [[pool.server]]
  name = "edge%d-%d"
    [[pool.server.interface]]
    name = "external"
    zone = "perimeter-external"
    access = "%s"
    webconf = "%s"
    av = "%s"
    gateway = "%s"
    [[pool.server.interface]]
    name = "internal"
    zone = "perimeter-internal"
    address = "%s"
    routes = ["10.0.0.0/8"]''' % (i, s, ext(i, 10 * s + 1), ext(i, 10 * s + 2), ext(i, 10 * s + 3),
                                 ext(i, 100), perim(i, 10 * s + 1)))
    else:
        role = "director" if i % 10 == 1 else "front-end"
        w('[[pool]]\nname = "pool%d"\nrole = "%s"\nload_balancing = "hlb"' % (i, role))
        w('  [[pool.vip]]\n  service = "pool"\n  zone = "internal"\n  address = "%s"\n  snat = true' % lan(i, 10))
        for s in (1, 2):
            w('  [[pool.server]]\n  name = "srv%d-%d"\n  interface = [{ name = "lan", zone = "internal", address = "%s" }]'
              % (i, s, lan(i, 10 + s)))
w('''[[pool]]
name = "rp"
role = "reverse-proxy"
  [[pool.server]]
  name = "rp01"
    [[pool.server.interface]]
    name = "external"
    zone = "perimeter-external"
    address = "198.18.0.30"
    [[pool.server.interface]]
    name = "internal"
    zone = "perimeter-internal"
    address = "198.19.0.30"''')
w('[[clients]]\nname = "corp-clients"\nzone = "internal"\nnetworks = ["10.255.0.0/16"]')
print("\n".join(out))
