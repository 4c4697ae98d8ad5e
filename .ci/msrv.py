# Proves the declared rust-version against the locked dependency graph: every locked
# package declares a rust-version at or below ours (or none). The crate's own code is
# held to it by clippy's incompatible_msrv lint, which reads the same rust-version.
# Usage: python3 .ci/msrv.py [VERSION]  (default: Cargo.toml's rust-version)
import json,subprocess,sys,re
if len(sys.argv) > 1:
    msrv = sys.argv[1]
else:
    meta = json.loads(subprocess.check_output(['cargo', 'metadata', '--format-version', '1', '--no-deps']))
    msrv = meta['packages'][0]['rust_version']
m=json.loads(subprocess.check_output(['cargo','metadata','--format-version','1','--locked']))
ids=set(n['id'] for n in m['resolve']['nodes'])
def v(s): 
    t=[int(x) for x in re.findall(r'\d+',s)[:3]]
    return tuple(t+[0]*(3-len(t)))
bad=sorted((p['name'],p['version'],p['rust_version']) for p in m['packages'] if p['id'] in ids and p.get('rust_version') and v(p['rust_version'])>v(msrv))
for b in bad: print('needs newer Rust: %s %s (rust-version %s)'%b)
print('rust-version %s: %d locked packages checked, %d need a newer Rust' % (msrv, len(ids), len(bad)))
sys.exit(1 if bad else 0)
