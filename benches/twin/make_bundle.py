# A synthetic recording bundle for the twin benchmarks: one deployment, 20 series at 15-s
# steps over the given days (a diurnal load, an exact lognormal latency histogram, replicas,
# CPU and memory). Usage: make_bundle.py DAYS OUT_DIR
import json, math, os, sys
days=float(sys.argv[1]); out=sys.argv[2]
step=15.0; start=1.7e9; n=int(days*86400/step)+1
bounds=[0.1,0.2,0.3,0.4,0.5,0.6,0.8,1,1.25,1.5,2,3,5,10]
sigma=0.4; mu=math.log(0.5)-sigma*sigma/2
def cdf(x): return 0.5*(1+math.erf((math.log(x)-mu)/(sigma*math.sqrt(2))))
os.makedirs(out+"/series/api",exist_ok=True)
def rate(i): return 10+6*math.sin(2*math.pi*i*step/86400)**2+ (i%7)
def w(key, header, rows):
    with open(f"{out}/series/api/{key}.csv","w") as f:
        f.write(header+"\n")
        for r in rows: f.write(",".join(str(x) for x in r)+"\n")
ts=[start+i*step for i in range(n)]
w("requests","t_unix_s,value,code",[(t,rate(i),"200") for i,t in enumerate(ts)])
lat=[]
for b in bounds+[float('inf')]:
    le="+Inf" if b==float('inf') else str(b)
    f=1.0 if b==float('inf') else cdf(b)
    lat+= [(t,rate(i)*f,le) for i,t in enumerate(ts)]
w("latency","t_unix_s,value,le",lat)
pods=lambda i: max(2, math.ceil(rate(i)/5))
w("spec_replicas","t_unix_s,value",[(t,pods(i)) for i,t in enumerate(ts)])
w("ready_replicas","t_unix_s,value",[(t,pods(i)) for i,t in enumerate(ts)])
w("cpu","t_unix_s,value,pod",[(t,0.02*pods(i)+0.03*rate(i),"api-x-1") for i,t in enumerate(ts)])
w("memory","t_unix_s,value,pod",[(t,2e8*pods(i)+1e6*rate(i),"api-x-1") for i,t in enumerate(ts)])
series=[]
for k,c in [("requests",1),("latency",len(bounds)+1),("spec_replicas",1),("ready_replicas",1),("cpu",1),("memory",1)]:
    series.append(dict(deployment="api",key=k,purpose="perf",query=k,file=f"series/api/{k}.csv",series=c,points=c*n))
json.dump(dict(format_version=1,prometheus="http://x",namespace="default",deployments=["api"],start_unix_s=start,end_unix_s=start+(n-1)*step,step_s=step,rate_window="1m",series=series,absent=[],manifests=[],recorded_by="gen",time_scale=1.0),open(out+"/bundle.json","w"))
print(n,"points per series,", sum(s["series"] for s in series),"series")
