// The audit's JavaScript fixture: a CDK app in plain CommonJS, synthesized by Node with
// aws-cdk-lib from npm (scripts/setup.sh installs it into .js-cdk/, testkit/js_app.py runs
// it). app.py beside this file is the same app in Python, with the same construct IDs.
"use strict";

const cdk = require("aws-cdk-lib");
const ecr = require("aws-cdk-lib/aws-ecr");
const ecs = require("aws-cdk-lib/aws-ecs");
const iam = require("aws-cdk-lib/aws-iam");
const logs = require("aws-cdk-lib/aws-logs");
const s3 = require("aws-cdk-lib/aws-s3");
const secretsmanager = require("aws-cdk-lib/aws-secretsmanager");
const ssm = require("aws-cdk-lib/aws-ssm");

class JsAuditStack extends cdk.Stack {
  constructor(scope, id, props) {
    super(scope, id, props);

    // A task definition whose execution role aws-cdk-lib makes, with the grants it adds.
    const repo = new ecr.Repository(this, "Repo");
    const secret = new secretsmanager.Secret(this, "Db");
    const web = new ecs.FargateTaskDefinition(this, "Web");
    web.addContainer("web", {
      image: ecs.ContainerImage.fromEcrRepository(repo, "1.0"),
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: "web" }),
      secrets: { DB: ecs.Secret.fromSecretsManager(secret) },
    });

    // A hand-written execution role: trust without conditions, the AWS managed policy and
    // an inline policy on every resource.
    const handRole = new iam.Role(this, "HandRole", {
      assumedBy: new iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
      managedPolicies: [
        iam.ManagedPolicy.fromAwsManagedPolicyName(
          "service-role/AmazonECSTaskExecutionRolePolicy",
        ),
      ],
      inlinePolicies: {
        Secrets: new iam.PolicyDocument({
          statements: [
            new iam.PolicyStatement({
              actions: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
              resources: ["*"],
            }),
          ],
        }),
      },
    });
    const workerLogs = new logs.LogGroup(this, "WorkerLogs");
    const token = ssm.StringParameter.fromSecureStringParameterAttributes(this, "Token", {
      parameterName: "/app/token",
      version: 1,
    });
    const bucket = new s3.Bucket(this, "Config");
    const worker = new ecs.FargateTaskDefinition(this, "Worker", { executionRole: handRole });
    worker.addContainer("worker", {
      image: ecs.ContainerImage.fromRegistry("public.ecr.aws/docker/library/busybox:latest"),
      logging: ecs.LogDrivers.awsLogs({ logGroup: workerLogs, streamPrefix: "worker" }),
      secrets: { TOKEN: ecs.Secret.fromSsmParameter(token) },
      environmentFiles: [ecs.EnvironmentFile.fromBucket(bucket, "worker.env")],
    });
  }
}

const app = new cdk.App();
new JsAuditStack(app, "JsAudit", { env: { account: "123456789012", region: "eu-west-1" } });
app.synth();
