-- Run once by the postgres image on an empty volume (POSTGRES_DB creates the mlflow database).
CREATE DATABASE prefect;
