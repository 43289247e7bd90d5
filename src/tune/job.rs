//! Running a sweep on a cluster: a Kubernetes Indexed Job whose pods each evaluate one
//! shard (`tune --shard i/N`), their results merged afterwards with `scaletwin merge`.

use std::path::Path;

/// An Indexed Job that runs the sweep as `n` shards on a cluster.
pub fn indexed_job(
    name: &str,
    experiment: &Path,
    n: usize,
    image: &str,
    pvc: &str,
    configmap: &str,
) -> String {
    let file = experiment
        .file_name()
        .map(|f| f.to_string_lossy().to_string())
        .unwrap_or_else(|| "experiment.yaml".into());
    let job = format!(
        "scaletwin-tune-{}",
        name.to_ascii_lowercase().replace(['_', '.', ' '], "-")
    );
    format!(
        r#"# A sharded sweep of `{name}`: {n} pods, each evaluating one slice.
# 1. kubectl create configmap {configmap} --from-file={file}={path}
# 2. a PersistentVolumeClaim named {pvc} (ReadWriteMany) for the results
# 3. kubectl apply -f this file; when the Job completes, copy /results and run
#    scaletwin merge {path} results/shard-* -o output/{name}
apiVersion: batch/v1
kind: Job
metadata:
  name: {job}
spec:
  completionMode: Indexed
  completions: {n}
  parallelism: {n}
  backoffLimitPerIndex: 2
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: tune
          image: {image}
          command: ["sh", "-c"]
          args:
            - >-
              exec scaletwin tune /experiment/{file}
              --shard "${{JOB_COMPLETION_INDEX}}/{n}"
              -o "/results/shard-${{JOB_COMPLETION_INDEX}}"
          resources:
            requests: {{cpu: "2", memory: 1Gi}}
          volumeMounts:
            - {{name: experiment, mountPath: /experiment, readOnly: true}}
            - {{name: results, mountPath: /results}}
      volumes:
        - name: experiment
          configMap: {{name: {configmap}}}
        - name: results
          persistentVolumeClaim: {{claimName: {pvc}}}
"#,
        path = experiment.display()
    )
}
