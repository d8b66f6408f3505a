"""The bench's work through Spark: `python -m bench.peers.spark_run SPEC.json`, run by the peers' venv's python.

Spark local[processes]: read.csv with the 10 float columns' schema (no inference pass), mlflow.pyfunc.spark_udf of the
model (env_manager local: this venv), the predictions and the file name written by write.csv. The UDFs are made
before the clock starts; Spark's Python workers are reused and MLflow keeps the loaded model in each, so after the
warm-up run a timed run loads no model. The spec is read and checked before PySpark is imported.
"""

import os
import sys
import time

import mlflow.pyfunc

from bench.peers import emit, measure, say, spec_from_argv


def main(argv) -> int:
    spec = spec_from_argv("spark_run", argv)
    if spec is None:
        return 2
    import pyspark  # only the peers' venv has PySpark, and only once the spec is known good
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    # Spark's Python workers: this venv's python (the default, `python3` on PATH, has no MLflow of its own)
    os.environ["PYSPARK_PYTHON"] = os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    started = time.perf_counter()
    spark = (
        SparkSession.builder.master(f"local[{spec.processes}]")
        .appName("bench-peers")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", "4g")
        .config("spark.sql.shuffle.partitions", str(spec.processes))
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    schema = T.StructType([T.StructField(name, T.DoubleType()) for name in spec.columns])
    # result_type long: the models predict int64 labels (from the signature's tensor spec MLflow would infer an array)
    udfs = {
        key: mlflow.pyfunc.spark_udf(spark, model_uri=path, env_manager="local", result_type="long")
        for key, path in spec.models.items()
    }
    startup_s = time.perf_counter() - started

    def pipeline(key, files, out):
        frame = spark.read.csv(files, header=True, schema=schema)
        frame.select(
            udfs[key](F.struct(*spec.columns)).alias("prediction"),
            F.element_at(F.split(F.input_file_name(), "/"), -1).alias("file_name"),
        ).write.mode("overwrite").option("header", True).csv(str(out))

    try:
        results = measure(spec, pipeline, say)
    finally:
        spark.stop()
    emit("spark", pyspark.__version__, startup_s, results)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
