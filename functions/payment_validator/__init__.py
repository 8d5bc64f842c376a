"""Payment validation function: validates, decides and records payments; reports its region's health.

Runs on AWS Lambda behind API Gateway (REST, proxy integration). It never imports pulumi, and needs
nothing beyond the standard library and boto3 (which the Lambda runtime provides).
"""
